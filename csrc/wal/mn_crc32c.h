/*
 * mn_crc32c.h: CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every
 * write-ahead log record.
 *
 * CRC32C rather than CRC32 because x86-64 computes it in hardware (SSE4.2 crc32, 8 bytes per
 * instruction), so checksumming a group commit costs far less than writing it. The dispatching
 * function checks the CPU once; the table-driven software version is the oracle and the
 * fallback for other CPUs. Conventions follow iSCSI/ext4: initial value and final xor all ones,
 * so mn_crc32c(0, "123456789", 9) == 0xE3069283. Internal to the C core.
 */
#ifndef MN_CRC32C_H
#define MN_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/** Extends `crc` (0 to start; a previous result to continue) over `size` bytes. Any thread. */
uint32_t mn_crc32c(uint32_t crc, const void *data, size_t size);
/** The software (byte table) implementation, always available. */
uint32_t mn_crc32c_sw(uint32_t crc, const void *data, size_t size);
/** 1 when the SSE4.2 implementation can run on this CPU (checked once), else 0. */
int mn_crc32c_hw_available(void);
/** The SSE4.2 implementation; call only when mn_crc32c_hw_available(). Returns the software
 *  result on builds for other architectures. */
uint32_t mn_crc32c_hw(uint32_t crc, const void *data, size_t size);

#endif /* MN_CRC32C_H */

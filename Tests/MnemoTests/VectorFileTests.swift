// Proves the texmex reader: it reads the shared datasets with the documented shapes, and
// rejects missing, truncated and inconsistent files with typed errors.
import Foundation
import Mnemo
import Testing

@Suite struct VectorFileTests {
    @Test(.enabled(if: TestData.enabled, TestData.skipMessage))
    func readsTheSharedSets() throws {
        let base = try VectorFile<Float>(contentsOf: TestData.path("sift5k_base.fvecs"))
        #expect(base.count == 5000 && base.dimension == 128)
        let truth = try VectorFile<Int32>(contentsOf: TestData.path("sift5k_groundtruth.ivecs"))
        #expect(truth.count == 100 && truth.dimension == 100)
        #expect(truth[0].allSatisfy { $0 >= 0 && $0 < 5000 })
    }

    @Test func rejectsBadFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mnemo-vecs-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func write(_ words: [Int32]) -> String {
            let path = directory.appendingPathComponent("f\(words.count).fvecs").path
            let data = words.withUnsafeBytes { Data($0) }
            #expect(FileManager.default.createFile(atPath: path, contents: data))
            return path
        }
        let good = write([2, 0x3F80_0000, 0x4000_0000])
        #expect(try VectorFile<Float>(contentsOf: good).values == [1, 2])
        let cases: [(String, MnemoError.Code)] = [
            (directory.path + "/missing.fvecs", .io),
            (write([2, 1]), .corrupt),            // cut short
            (write([2, 1, 1, 3, 1, 1]), .corrupt), // second row claims dimension 3
            (write([-1]), .corrupt),
        ]
        for (path, code) in cases {
            do {
                _ = try VectorFile<Float>(contentsOf: path)
                Issue.record("accepted \(path)")
            } catch {
                #expect(error.code == code)
            }
        }
    }
}

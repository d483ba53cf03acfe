"""TLS: `mnemo serve --tls-cert --tls-key` with a self-signed certificate generated here by the
openssl CLI. A client trusting that certificate gets /healthz and a full /v1 round trip; a
client that does not trust it is refused by the handshake; plain HTTP on the port gets no answer."""
import argparse
import http.client
import os
import ssl
import subprocess
import sys
import tempfile

from mnemo_server import Server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mnemo", required=True)
    parser.add_argument("--log", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        context = ssl.create_default_context(cafile=cert)
        server = Server(args.mnemo, extra=["--tls-cert", cert, "--tls-key", key], tls_context=context, log=args.log)
        server.start()
        try:
            status, body = server.request("GET", "/healthz")
            assert status == 200, (status, body)
            status, body = server.request("POST", "/v1/spaces", {"name": "tls", "dimension": 2})
            assert status == 201, (status, body)
            status, body = server.request("PUT", "/v1/spaces/tls/memories/a", {"vector": [1, 0], "text": "over TLS"})
            assert status == 201, (status, body)
            status, body = server.request("GET", "/v1/spaces/tls/memories/a")
            assert status == 200 and body["text"] == "over TLS", (status, body)
            untrusting = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=5,
                                                     context=ssl.create_default_context())
            try:
                untrusting.request("GET", "/healthz")
                untrusting.getresponse()
                raise AssertionError("a client that does not trust the certificate got an answer")
            except ssl.SSLError:
                pass
            plain = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            try:
                plain.request("GET", "/healthz")
                response = plain.getresponse()
                raise AssertionError(f"plain HTTP got an answer: {response.status}")
            except (http.client.HTTPException, OSError):
                pass
        finally:
            code = server.stop()
        assert code == 0, f"graceful stop exited {code}"
    print("tls test passed: self-signed certificate, trusted client served, untrusted and plain refused")


if __name__ == "__main__":
    main()

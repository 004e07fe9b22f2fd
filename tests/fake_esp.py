"""A stand-in for SendGrid's v3 API on loopback, so anymail's real SendGrid
backend is exercised over HTTP without the internet. It records each request
and can answer errors for a while."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        server: FakeSendGrid = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with server.lock:
            status = server.failures.pop(0) if server.failures else 202
            if status == 202:
                server.requests.append({"path": self.path, "auth": self.headers["Authorization"],
                                        "body": body})  # fmt: skip
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        payload = b"" if status == 202 else json.dumps({"errors": [{"message": "nope"}]}).encode()
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


class FakeSendGrid(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.failures: list[int] = []  # statuses to answer before accepting again
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v3/"

    def personalised(self) -> list[dict]:
        """Each delivered recipient's mail as SendGrid would build it from the
        request: its substitutions applied to the shared content."""
        return [
            _filled(request["body"], person)
            for request in self.requests
            for person in request["body"]["personalizations"]
        ]


def _filled(body: dict, person: dict) -> dict:
    substitutions = person.get("substitutions", {})

    def fill(text: str) -> str:
        for key, value in substitutions.items():
            text = text.replace(key, value)
        return text

    content = {part["type"]: part["value"] for part in body["content"]}
    return {
        "to": person["to"][0]["email"],
        "subject": fill(person.get("subject", body.get("subject", ""))),
        "text": fill(content["text/plain"]),
        "html": fill(content["text/html"]),
        "headers": person.get("headers", {}),
        "custom_args": person.get("custom_args", {}),
    }

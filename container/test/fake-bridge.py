#!/usr/bin/python3
"""Stands in for bridge.py (instance.ts runs `<python> bridge.py …`; point `python` here): its "soffice" is a
sleep process. A request whose input ends in "crash" is answered the way a bridge that has not yet noticed the
crash answers: soffice is dead (and reaped) when the ordinary load-failure reply is written."""

import json
import subprocess
import sys

soffice = subprocess.Popen(["sleep", "60"])
print(json.dumps({"event": "ready", "pid": soffice.pid, "startMs": 0, "warmMs": 0}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    if req["input"].endswith("crash"):
        soffice.kill()
        soffice.wait()
    print(json.dumps({"id": req["id"], "ok": False, "error": "corrupt_input",
                      "detail": "LibreOffice could not read the document"}), flush=True)
soffice.kill()

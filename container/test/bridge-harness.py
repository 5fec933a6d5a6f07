"""Drives bridge.py's crash classification without LibreOffice: fake soffice processes and desktops that fail
the way a dying instance does. Usage: python3 bridge-harness.py <bridge.py>; prints one JSON line of results."""

import importlib.util
import sys

spec = importlib.util.spec_from_file_location("bridge", sys.argv[1])
bridge = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bridge)

from com.sun.star.io import IOException  # noqa: E402
from com.sun.star.lang import DisposedException, IllegalArgumentException  # noqa: E402
from com.sun.star.uno import RuntimeException  # noqa: E402


class Proc:
    """soffice as Popen sees it: poll() is its exit code, None while it runs."""

    def __init__(self, code):
        self.code = code

    def poll(self):
        return self.code


class Desktop:
    def __init__(self, error, connected):
        self.error = error
        self.connected = connected

    def loadComponentFromURL(self, *args):
        if self.error is not None:
            raise self.error
        return None

    def getComponents(self):
        if not self.connected:
            raise DisposedException("Binary URP bridge disposed during call", None)
        return ()


def load(error, exit_code, connected):
    engine = bridge.Engine("soffice.bin", "/nonexistent/profile", "pipe")
    engine.proc = Proc(exit_code)
    engine.desktop = Desktop(error, connected)
    try:
        engine.load("/nonexistent/input.docx")
        return "loaded"
    except bridge.Failure as f:
        return f.code
    except Exception as e:
        return "fatal" if bridge.is_fatal(e) else "error"


def disposed():
    return DisposedException("Binary URP bridge disposed during call", None)


bridge.send({
    "isFatal": {
        "DisposedException": bridge.is_fatal(disposed()),
        "RuntimeException (URP)": bridge.is_fatal(RuntimeException("Binary URP bridge already disposed", None)),
        "RuntimeException (other)": bridge.is_fatal(RuntimeException("something else", None)),
        "IOException": bridge.is_fatal(IOException("read error", None)),
        "IllegalArgumentException": bridge.is_fatal(IllegalArgumentException("Unsupported URL", None, 0)),
    },
    "load": {
        "disposed mid-load": load(disposed(), None, False),
        "IOException, soffice exited": load(IOException("read error", None), -6, False),
        "IOException, connection gone": load(IOException("read error", None), None, False),
        "no document, soffice exited": load(None, -6, False),
        "IOException, soffice alive": load(IOException("read error", None), None, True),
        "no document, soffice alive": load(None, None, True),
    },
})

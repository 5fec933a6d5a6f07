#!/usr/bin/python3
"""UNO bridge: one long-lived process per LibreOffice instance.

Started by instance.ts in its own process group. It launches soffice.bin (so killing the group kills both),
connects over a pipe, warms the import/export filters, then serves line-delimited JSON requests on stdin,
one at a time, answering on stdout. Everything else (timeouts, retries, recycling) is decided in TypeScript.

Needs Debian's python3-uno, i.e. /usr/bin/python3.
"""

import ctypes
import json
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
import traceback

# Protocol lines go to the real stdout; anything LibreOffice or pyuno prints goes to stderr instead.
PROTO = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr
PROTO_LOCK = threading.Lock()

PR_SET_PDEATHSIG = 1
LIBC = ctypes.CDLL("libc.so.6", use_errno=True)


def die_with_parent():
    # If the Node server dies (even by SIGKILL), the kernel kills us; soffice gets the same from us.
    LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


die_with_parent()
# Outside a sandbox, a parent that died before prctl took effect leaves us with init as parent: give up. Inside
# bwrap's pid namespace our parent is its init (pid 1), and bwrap kills the whole namespace with its parent.
if os.getppid() == 1 and "--sandboxed" not in sys.argv:
    sys.exit(1)
# Sockets and files we create are ours alone (LibreOffice's UNO pipes included).
os.umask(0o077)

import uno  # noqa: E402
import unohelper  # noqa: E402
from com.sun.star.beans import PropertyValue  # noqa: E402
from com.sun.star.lang import DisposedException  # noqa: E402
from com.sun.star.task import XInteractionHandler  # noqa: E402


FATAL_SIGNAL = re.compile(r"Fatal exception: Signal (\d+)")


def send(msg):
    with PROTO_LOCK:
        PROTO.write(json.dumps(msg, separators=(",", ":")) + "\n")
        PROTO.flush()


def log(text):
    sys.stderr.write("[bridge %d] %s\n" % (os.getpid(), text))
    sys.stderr.flush()


def prop(name, value):
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def props(**kw):
    return tuple(prop(k, v) for k, v in kw.items())


def typed_filter_data(data):
    # FilterData must travel as a sequence of PropertyValue; plain tuples lose their type over the bridge.
    return uno.Any("[]com.sun.star.beans.PropertyValue", tuple(prop(k, v) for k, v in data.items()))


class EngineGone(Exception):
    """soffice died or dropped the connection while working on a request: the instance must be replaced."""


class Failure(Exception):
    def __init__(self, code, detail, option=None, **context):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.option = option
        self.context = context


def has_type(continuation, name):
    return any(t.typeName == name for t in continuation.getTypes())


class Handler(unohelper.Base, XInteractionHandler):
    """Answers LibreOffice's questions without a user: never a password, never a repair.

    pyuno (Python 3.11) cannot convert the request exception itself (AttributeError: args), so the request is
    recognised by the continuations offered: only a password request offers XInteractionPassword.
    """

    def __init__(self):
        self.password_requested = False
        self.repair_offered = False
        self.questions = 0

    def handle(self, request):
        self.questions += 1
        conts = request.getContinuations()
        if any(has_type(c, "com.sun.star.task.XInteractionPassword")
               or has_type(c, "com.sun.star.task.XInteractionPassword2") for c in conts):
            self.password_requested = True
        names = [[t.typeName for t in c.getTypes()] for c in conts]
        if any("com.sun.star.task.XInteractionApprove" in n for n in names) and any(
                "com.sun.star.task.XInteractionDisapprove" in n for n in names):
            # "The file is corrupt, repair it?" — repairing is slow and unpredictable: refuse.
            self.repair_offered = True
        for wanted in ("com.sun.star.task.XInteractionAbort", "com.sun.star.task.XInteractionDisapprove"):
            for c in conts:
                if has_type(c, wanted):
                    c.select()
                    return


class Engine:
    def __init__(self, soffice, profile, pipe, limits=()):
        self.soffice = soffice
        self.profile = profile
        self.pipe = pipe
        # (RLIMIT_*, bytes) applied to soffice: address space (a runaway allocation fails instead of taking the
        # machine) and file size (SIGXFSZ past the output cap); never a core dump.
        self.limits = limits
        self.proc = None
        self.desktop = None
        self.exit_lock = threading.Lock()
        self.exit_reported = False
        self.stderr_reader = None
        # LibreOffice's own crash handler catches fatal signals, prints "Fatal exception: Signal N" and aborts, so
        # soffice's exit status says SIGABRT even when the kernel sent SIGXFSZ (file size cap) or SIGXCPU.
        self.fatal_signal = None

    def limit_child(self):
        die_with_parent()
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        for which, value in self.limits:
            resource.setrlimit(which, (value, value))

    def start(self, timeout):
        started = time.time()
        self.proc = subprocess.Popen(
            [self.soffice, "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
             "--nolockcheck", "--nofirststartwizard",
             "--accept=pipe,name=%s;urp;StarOffice.ComponentContext" % self.pipe,
             "-env:UserInstallation=" + uno.systemPathToFileUrl(self.profile)],
            stdin=subprocess.DEVNULL, stdout=2, stderr=subprocess.PIPE, preexec_fn=self.limit_child,
            # No lock files: a killed instance would leave one on its output, and the retry would find the
            # file "in use" and abort.
            env=dict(os.environ, SAL_ENABLE_FILE_LOCKING="0"))
        self.stderr_reader = threading.Thread(target=self.relay_stderr, daemon=True)
        self.stderr_reader.start()
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        url = "uno:pipe,name=%s;urp;StarOffice.ComponentContext" % self.pipe
        while True:
            try:
                ctx = resolver.resolve(url)
                break
            except Exception:
                code = self.proc.poll()
                if code is not None:
                    raise Failure("engine_failure", "soffice exited with code %d during start-up" % code)
                if time.time() - started > timeout:
                    raise Failure("engine_failure", "soffice did not accept connections within %ds" % timeout)
                time.sleep(0.02)
        self.ctx = ctx
        self.desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        threading.Thread(target=self.watch, daemon=True).start()
        return time.time() - started

    def alive(self):
        """After an unexpected error: is soffice still there and answering? A kill mid-call can surface as an
        ordinary IOException before the broken connection is noticed."""
        if self.proc.poll() is not None:
            return False
        try:
            self.desktop.getComponents()
            return self.proc.poll() is None
        except Exception:
            return False

    def relay_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            match = FATAL_SIGNAL.search(line)
            if match:
                self.fatal_signal = int(match.group(1))
            sys.stderr.write(line)
        sys.stderr.flush()

    def report_exit(self):
        """Tells the server how soffice ended, once: its exit status (negative: the signal) and the signal its
        crash handler caught (e.g. 25, SIGXFSZ at the file size cap)."""
        code = self.proc.wait()
        if self.stderr_reader:
            self.stderr_reader.join(2)  # the last lines, printed as it died
        with self.exit_lock:
            if self.exit_reported:
                return
            self.exit_reported = True
        send({"event": "exit", "code": code, "signal": self.fatal_signal})

    def watch(self):
        self.report_exit()
        os._exit(3)

    def load(self, path, input_filter=None, input_options=None):
        handler = Handler()
        args = dict(Hidden=True, ReadOnly=True, UpdateDocMode=0, MacroExecutionMode=0, InteractionHandler=handler)
        if input_filter:
            args["FilterName"] = input_filter
        if input_options:
            args["FilterOptions"] = input_options
        error = None
        try:
            doc = self.desktop.loadComponentFromURL(uno.systemPathToFileUrl(path), "_blank", 0, props(**args))
        except Exception as e:
            if is_fatal(e):
                raise
            doc, error = None, e
        if doc is None:
            # A crash mid-load can surface as an ordinary load error (or a None) before the broken connection
            # is noticed: a dead engine is not the document's fault, whatever the error said.
            if not self.alive():
                raise EngineGone("soffice died while loading the document%s"
                                 % (": %s" % describe(error) if error is not None else ""))
            if handler.password_requested:
                raise Failure("password_protected", "the document is encrypted and no password was given")
            detail = "LibreOffice could not read the document"
            if handler.repair_offered:
                detail += " (it is damaged; repair was declined)"
            elif error is not None:
                detail += ": %s" % (getattr(error, "Message", "") or uno_name(error))
            raise Failure("corrupt_input", detail)
        return doc

    def convert(self, req):
        doc = self.load(req["input"], req.get("inputFilter"), req.get("inputFilterOptions"))
        try:
            family = family_of(doc)
            expected = req.get("family")
            if expected and family != expected:
                raise Failure("corrupt_input", "LibreOffice read the file as a %s document, not %s" % (family, expected))
            result = {"family": family, "inputPages": count_pages(doc, family)}
            max_pages = req.get("maxPages")
            if max_pages is not None:
                # Before any export: a document longer than what was paid for costs no more work.
                pages = printed_pages(doc, family)
                if pages is not None and pages > max_pages:
                    raise Failure("too_many_pages", "the document has %d pages, more than the %d allowed" % (pages, max_pages),
                                  pages=pages, maxPages=max_pages)
            if req.get("picture") and family == "draw":
                fit_page_to_picture(doc)
            if req["filter"] == SVG_PER_PAGE:
                result["outputs"] = self.store_pages_svg(doc, req["output"], req.get("pageRange"))
                return result
            store = dict(FilterName=req["filter"], Overwrite=True)
            if req.get("filterOptions") is not None:
                store["FilterOptions"] = req["filterOptions"]
            if req.get("filterData"):
                store["FilterData"] = typed_filter_data(req["filterData"])
            sheet = req.get("sheet")
            if family == "calc" and sheet is not None:
                result["outputs"] = store_sheets(doc, sheet, req["output"], store)
            else:
                try:
                    doc.storeToURL(uno.systemPathToFileUrl(req["output"]), props(**store))
                except Exception as e:
                    # PDF export fails outright when no page of PageRange exists.
                    if is_fatal(e) or "PageRange" not in (req.get("filterData") or {}):
                        raise
                    raise Failure("invalid_option", "none of the requested pages (%s) exist" % req["filterData"]["PageRange"],
                                  "pages")
                result["outputs"] = [{"path": req["output"]}]
            return result
        finally:
            close(doc)

    def store_pages_svg(self, doc, output, page_range):
        """One SVG per slide or page through Draw's GraphicExportFilter: shapes and text, no script (Impress's
        own SVG export embeds a slide-show script)."""
        pages = doc.getDrawPages()
        wanted = select_pages(page_range, pages.getCount())
        exporter = self.ctx.ServiceManager.createInstanceWithContext("com.sun.star.drawing.GraphicExportFilter", self.ctx)
        directory = os.path.dirname(output)
        digits = max(3, len(str(wanted[-1])))
        outputs = []
        for n in wanted:
            path = os.path.join(directory, "page-%0*d.svg" % (digits, n))
            exporter.setSourceDocument(pages.getByIndex(n - 1))
            exporter.filter(props(URL=uno.systemPathToFileUrl(path), MediaType="image/svg+xml"))
            if not os.path.isfile(path):
                raise Failure("engine_failure", "SVG export of page %d wrote nothing" % n)
            outputs.append({"path": path})
        return outputs

    def warm(self, directory):
        """One round trip per module through OOXML and PDF, so the first real request pays no library loads."""
        for factory, fmt, export, pdf in (
                ("swriter", "MS Word 2007 XML", "docx", "writer_pdf_Export"),
                ("scalc", "Calc MS Excel 2007 XML", "xlsx", "calc_pdf_Export"),
                ("simpress", "Impress MS PowerPoint 2007 XML", "pptx", "impress_pdf_Export")):
            path = os.path.join(directory, "warm." + export)
            doc = self.desktop.loadComponentFromURL("private:factory/" + factory, "_blank", 0, props(Hidden=True))
            try:
                doc.storeToURL(uno.systemPathToFileUrl(path), props(FilterName=fmt, Overwrite=True))
            finally:
                close(doc)
            doc = self.load(path)
            try:
                doc.storeToURL(uno.systemPathToFileUrl(path + ".pdf"), props(FilterName=pdf, Overwrite=True))
            finally:
                close(doc)
            for p in (path, path + ".pdf"):
                try:
                    os.unlink(p)
                except OSError:
                    pass


SVG_PER_PAGE = "svg-per-page"
# Draw's largest page (LibreOffice clamps pages at 6 m); a picture larger than this is scaled down to fit.
MAX_PAGE_100THMM = 300000


def family_of(doc):
    # A master document (.odm, .sxg) is a GlobalDocument: Writer, though not a TextDocument.
    if doc.supportsService("com.sun.star.text.TextDocument") or doc.supportsService("com.sun.star.text.GenericTextDocument"):
        return "writer"
    if doc.supportsService("com.sun.star.sheet.SpreadsheetDocument"):
        return "calc"
    if doc.supportsService("com.sun.star.presentation.PresentationDocument"):
        return "impress"
    if doc.supportsService("com.sun.star.drawing.DrawingDocument"):
        return "draw"
    return "unknown"


def count_pages(doc, family):
    try:
        if family == "writer":
            return int(doc.getCurrentController().getPropertyValue("PageCount"))
        if family == "calc":
            return doc.getSheets().getCount()
        if family in ("impress", "draw"):
            return doc.getDrawPages().getCount()
    except Exception as e:
        if is_fatal(e):
            raise
    return None


def printed_pages(doc, family):
    """Pages (slides) the document exports to: Writer's laid-out pages, the slides, or for Calc the pages its
    print ranges make (what PDF export produces), not its sheet count."""
    if family != "calc":
        return count_pages(doc, family)
    try:
        return int(doc.getRendererCount(doc, ()))
    except Exception as e:
        if is_fatal(e):
            raise
    return None


def select_pages(spec, count):
    """1-based pages from "1-3,5" / "4-" (validated by the server), all when None; pages past the end refused."""
    if count == 0:
        raise Failure("corrupt_input", "the document has no pages")
    if not spec:
        return list(range(1, count + 1))
    chosen = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        first = int(first)
        last = count if (_ and last == "") else int(last or first)
        if max(first, last) > count:
            raise Failure("invalid_option", "page %d was requested but the document has %d page(s)" % (max(first, last), count),
                          "pages")
        chosen.update(range(first, last + 1))
    return sorted(chosen)


def fit_page_to_picture(doc):
    """A picture opens in Draw as one graphic on an A4 page: make the page the picture's own size (its nominal
    size, or its pixels at 96 dpi), without borders, so PDF, PNG and SVG show the picture and nothing else."""
    try:
        pages = doc.getDrawPages()
        if pages.getCount() != 1:
            return
        page = pages.getByIndex(0)
        if page.getCount() != 1:
            return
        shape = page.getByIndex(0)
        width, height = picture_size(shape)
        if width <= 0 or height <= 0:
            return
        scale = min(1.0, MAX_PAGE_100THMM / float(max(width, height)))
        width, height = max(1, int(width * scale)), max(1, int(height * scale))
        for border in ("BorderLeft", "BorderRight", "BorderTop", "BorderBottom"):
            page.setPropertyValue(border, 0)
        page.setPropertyValue("Width", width)
        page.setPropertyValue("Height", height)
        size = uno.createUnoStruct("com.sun.star.awt.Size")
        size.Width, size.Height = width, height
        shape.setSize(size)
        shape.setPosition(uno.createUnoStruct("com.sun.star.awt.Point"))
    except Exception as e:
        if is_fatal(e):
            raise
        log("could not fit the page to the picture: %s" % describe(e))


def picture_size(shape):
    """The graphic's size in 1/100 mm: its nominal size where its resolution is plausible (24-2400 dpi), else its
    pixels at 96 dpi, else the shape's."""
    try:
        graphic = shape.getPropertyValue("Graphic")
        mm = graphic.getPropertyValue("Size100thMM")
        px = graphic.getPropertyValue("SizePixel")
        if mm.Width > 0 and mm.Height > 0:
            dpi = px.Width * 2540.0 / mm.Width if px.Width > 0 else 96
            if 24 <= dpi <= 2400:
                return mm.Width, mm.Height
        if px.Width > 0 and px.Height > 0:
            return round(px.Width * 2540 / 96.0), round(px.Height * 2540 / 96.0)
    except Exception as e:
        if is_fatal(e):
            raise
    size = shape.getSize()
    return size.Width, size.Height


def resolve_sheets(doc, spec):
    sheets = doc.getSheets()
    names = list(sheets.getElementNames())
    if spec == "all":
        return list(range(len(names))), names
    if spec == 0:
        # The active sheet. Without an explicit sheet number the CSV filter writes the first sheet instead.
        return [names.index(doc.getCurrentController().getActiveSheet().getName())], names
    if isinstance(spec, int):
        if 1 <= spec <= len(names):
            return [spec - 1], names
        raise Failure("invalid_option", "sheet %d does not exist; the workbook has %d sheet(s): %s"
                      % (spec, len(names), ", ".join(names)), "sheet")
    if spec in names:
        return [names.index(spec)], names
    raise Failure("invalid_option", "no sheet named %r; sheets: %s" % (spec, ", ".join(names)), "sheet")


def store_sheets(doc, spec, output, store):
    """CSV writes one sheet. LibreOffice's 12th CSV token picks it (1-based) and names the file
    <base>-<SheetName>.csv; setActiveSheet on a hidden document has no effect on the export."""
    indexes, names = resolve_sheets(doc, spec)
    base_options = store.get("FilterOptions", "44,34,76,1,,0,false,true,true,false,false").split(",")
    directory = os.path.dirname(output)
    outputs = []
    for i in indexes:
        stem = "sheet%d" % (i + 1)
        options = (base_options + [""] * 11)[:11] + [str(i + 1)]
        store = dict(store, FilterOptions=",".join(options))
        doc.storeToURL(uno.systemPathToFileUrl(os.path.join(directory, stem + ".csv")), props(**store))
        written = [f for f in os.listdir(directory) if f.startswith(stem + "-") and f.endswith(".csv")]
        if len(written) != 1:
            raise Failure("engine_failure", "CSV export of sheet %d wrote %d files" % (i + 1, len(written)))
        outputs.append({"path": os.path.join(directory, written[0]), "sheet": i + 1, "name": names[i]})
    return outputs


def close(doc):
    try:
        doc.close(True)
    except Exception as e:
        if is_fatal(e):
            raise
        try:
            doc.dispose()
        except Exception:
            pass


def uno_name(e):
    """The exception's short name. pyuno names its classes in full ("com.sun.star.lang.DisposedException")."""
    return type(e).__name__.rsplit(".", 1)[-1]


def describe(e):
    return "%s: %s" % (uno_name(e), getattr(e, "Message", "") or e)


def is_fatal(e):
    # A broken connection means soffice is gone or wedged: the instance must be replaced.
    if isinstance(e, (EngineGone, DisposedException)):
        return True
    name = uno_name(e)
    if name == "DisposedException":
        return True
    text = str(e)
    return name == "RuntimeException" and ("URP" in text or "bridge" in text.lower())


def main():
    argv = [a for a in sys.argv[1:] if a != "--sandboxed"]
    args = dict(zip(argv[0::2], argv[1::2]))
    limits = [(resource.RLIMIT_AS, int(args["--rlimit-as"]))] if args.get("--rlimit-as") else []
    if args.get("--rlimit-fsize"):
        limits.append((resource.RLIMIT_FSIZE, int(args["--rlimit-fsize"])))
    engine = Engine(args["--soffice"], args["--profile"], args["--pipe"], limits)
    try:
        start_s = engine.start(float(args.get("--start-timeout", "60")))
        warm_started = time.time()
        if args.get("--warm-dir"):
            engine.warm(args["--warm-dir"])
        send({"event": "ready", "pid": engine.proc.pid, "startMs": round(start_s * 1000),
              "warmMs": round((time.time() - warm_started) * 1000)})
    except Exception as e:
        send({"event": "failed", "detail": str(getattr(e, "detail", None) or e)})
        if engine.proc:
            engine.proc.kill()
        sys.exit(2)

    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        rid = req.get("id")
        started = time.time()
        try:
            if req.get("op") == "ping":
                result = {}
            elif req.get("op") == "convert":
                result = engine.convert(req)
            else:
                raise Failure("engine_failure", "unknown op %r" % req.get("op"))
            send(dict(id=rid, ok=True, ms=round((time.time() - started) * 1000), **result))
        except Failure as f:
            reply = dict(f.context, id=rid, ok=False, error=f.code, detail=f.detail)
            if f.option:
                reply["option"] = f.option
            send(reply)
        except Exception as e:
            fatal = is_fatal(e) or not engine.alive()
            log(traceback.format_exc())
            send({"id": rid, "ok": False, "error": "engine_failure", "fatal": fatal, "detail": describe(e)})
            if fatal:
                break
    # stdin closed or the connection died: take soffice down with us, and say how it ended (the watch thread may
    # not get to it before the interpreter exits).
    if engine.proc:
        if engine.proc.poll() is None:
            engine.proc.kill()
        engine.report_exit()


if __name__ == "__main__":
    main()

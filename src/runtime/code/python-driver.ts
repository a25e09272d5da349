/**
 * The Python side of a code context, run by `/usr/bin/python3 -u -c`. Requests
 * arrive as JSON lines on fd 3, results and errors leave as JSON lines on fd 4;
 * the cell's own output stays on stdout and stderr, ended by a per-cell marker.
 * IPython's InteractiveShell gives notebook semantics: the last expression is a
 * result, display() works, matplotlib figures come back as PNG without show().
 */
export const PYTHON_DRIVER = String.raw`
import sys, os, json, base64
_in = os.fdopen(3, "r", buffering=1)
_out = os.fdopen(4, "w", buffering=1)
def _send(o):
    _out.write(json.dumps(o, default=str) + "\n"); _out.flush()
def _jsonable(data):
    res = {}
    for k, v in data.items():
        if isinstance(v, (bytes, bytearray)): v = base64.b64encode(v).decode()
        res[k] = v
    return res
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
try:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
except ImportError:
    _send({"type": "fatal", "message": "IPython is not installed in this image (apt-get install python3-ipykernel, or pip install ipython)"})
    sys.exit(3)
class _Hook(DisplayHook):
    def write_output_prompt(self): pass
    def write_format_data(self, format_dict, md_dict=None): _send({"type": "result", "data": _jsonable(format_dict), "isMainResult": True})
    def finish_displayhook(self): pass
class _Pub(DisplayPublisher):
    def publish(self, data, metadata=None, source=None, **kw): _send({"type": "result", "data": _jsonable(data)})
    def clear_output(self, wait=False): pass
_shell = InteractiveShell.instance(displayhook_class=_Hook, display_pub_class=_Pub, colors="NoColor")
def _showtraceback(exc_tuple=None, filename=None, tb_offset=None, exception_only=False, running_compiled_code=False):
    etype, value, tb = sys.exc_info() if exc_tuple is None else exc_tuple
    stb = _shell.InteractiveTB.structured_traceback(etype, value, tb)
    _send({"type": "error", "name": getattr(etype, "__name__", str(etype)), "message": str(value), "traceback": "\n".join(stb)})
_shell.showtraceback = _showtraceback
_shell.showsyntaxerror = lambda filename=None, running_compiled_code=False: _showtraceback()
_send({"type": "ready"})
for _line in _in:
    _req = json.loads(_line)
    if _req.get("type") == "setup":
        if _req.get("cwd"): os.chdir(_req["cwd"])
        os.environ.update(_req.get("env") or {})
        continue
    try:
        _shell.run_cell(_req["code"], store_history=True)
    except KeyboardInterrupt:
        _send({"type": "error", "name": "KeyboardInterrupt", "message": "interrupted", "traceback": ""})
    sys.stdout.flush(); sys.stderr.flush()
    sys.stdout.write("\x1e" + _req["token"] + "\x1e"); sys.stdout.flush()
    sys.stderr.write("\x1e" + _req["token"] + "\x1e"); sys.stderr.flush()
    _send({"type": "done", "executionCount": _shell.execution_count - 1})
`;

"""Executes a notebook on a Jupyter kernel and writes it back with its outputs.

Unlike `jupyter nbconvert --execute`, outputs are matched to cells by their parent message id over the whole
run, so a display message that a kernel publishes after its idle status (Deno's kernel does, now and then)
still lands in its cell. Usage: execute.py KERNEL IN.ipynb OUT.ipynb [TIMEOUT_SECONDS]
"""
import os
import queue
import sys
import time

import nbformat
from jupyter_client.manager import start_new_kernel

QUIET_SECONDS = 2.0


def output_of(msg):
    """The notebook output of an iopub message, or None for messages that are not outputs."""
    kind, content = msg["msg_type"], msg["content"]
    if kind == "stream":
        return nbformat.v4.new_output("stream", name=content["name"], text=content["text"])
    if kind in ("display_data", "execute_result"):
        out = nbformat.v4.new_output(kind, data=content["data"], metadata=content.get("metadata", {}))
        if kind == "execute_result":
            out.execution_count = content.get("execution_count")
        return out
    if kind == "error":
        return nbformat.v4.new_output("error", ename=content["ename"], evalue=content["evalue"],
                                      traceback=content["traceback"])
    return None


def main():
    kernel_name, source, target = sys.argv[1:4]
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 300.0
    nb = nbformat.read(source, as_version=4)
    manager, client = start_new_kernel(kernel_name=kernel_name, cwd=os.path.dirname(os.path.abspath(source)))
    cells = {}
    try:
        deadline = time.time() + timeout
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            cell.outputs = []
            msg_id = client.execute(cell.source, allow_stdin=False)
            cells[msg_id] = cell
            reply = client.get_shell_msg(timeout=max(1.0, deadline - time.time()))
            while reply["parent_header"].get("msg_id") != msg_id:
                reply = client.get_shell_msg(timeout=max(1.0, deadline - time.time()))
            cell.execution_count = reply["content"].get("execution_count")
        quiet_since = time.time()
        while time.time() - quiet_since < QUIET_SECONDS:
            try:
                msg = client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                continue
            quiet_since = time.time()
            cell = cells.get(msg["parent_header"].get("msg_id"))
            out = output_of(msg)
            if cell is not None and out is not None:
                cell.outputs.append(out)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    nbformat.write(nb, target)


if __name__ == "__main__":
    main()

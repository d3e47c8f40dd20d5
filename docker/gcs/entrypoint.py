"""fake-gcs-server's command line -> `gcp-storage-emulator start` (other flags are ignored)."""
import os
import sys

args, i, opts = sys.argv[1:], 0, {"-host": "0.0.0.0", "-port": "4443", "-scheme": "http"}
while i < len(args):
    flag = args[i].split("=", 1)
    key = "-" + flag[0].lstrip("-")
    if len(flag) == 2:
        opts[key], i = flag[1], i + 1
    elif i + 1 < len(args) and not args[i + 1].startswith("-"):
        opts[key], i = args[i + 1], i + 2
    else:
        opts[key], i = "true", i + 1
if opts["-scheme"] != "http":
    sys.exit("this stand-in serves only -scheme http")
command = ["gcp-storage-emulator", "start", "--host", opts["-host"], "--port", opts["-port"]]
if os.environ.get("GCS_DEFAULT_BUCKET"):
    command += ["--default-bucket", os.environ["GCS_DEFAULT_BUCKET"]]
os.execvp(command[0], command)

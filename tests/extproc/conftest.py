"""The extproc tests' shared helpers live in this folder (`ext_proc_client.py`); as a conftest folder it is
on sys.path for the tests below it too (tests/extproc/http2)."""

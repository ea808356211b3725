"""Protobuf code generated from proto/ by `python -m brightstaff.codegen`; never edit by hand."""

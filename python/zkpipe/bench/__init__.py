"""Benchmark drivers behind `zkpipe bench …`; each returns a JSON-ready dict."""

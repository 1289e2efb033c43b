"""Printable documents: plain data in, PDF bytes out. No Flask, no models."""

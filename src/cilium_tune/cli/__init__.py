"""Command-line interface: parse, call the core, render. Nothing else lives here."""

"""The app in a web browser, one app per tab (textual-serve)."""

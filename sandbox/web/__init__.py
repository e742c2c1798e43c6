"""The app in a web browser, one app per tab (textual-serve)."""

# The driver `serve` gives each tab's app (TEXTUAL_DRIVER): the one that needs no terminal.
DRIVER = "sandbox.web.browser_driver:BrowserDriver"

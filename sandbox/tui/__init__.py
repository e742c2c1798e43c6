"""The Textual app: its screens, widgets and the Textual-free presenter and session behind them."""

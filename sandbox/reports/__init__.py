"""What consumes the walkthrough's events: text and JSON, the Markdown transcript, the sim check
and the profile diff."""

"""Data: scenario walkthroughs shipped with agw-sandbox."""

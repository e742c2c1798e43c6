"""Data: stylesheets and in-cluster manifests shipped with agw-sandbox."""

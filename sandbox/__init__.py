"""agw-sandbox: a guided local agentgateway playground for LLM API key management."""

__version__ = "0.1.0"

"""A stand-in for the OpenAI chat-completions API that shows which API key reached it.

Standard library only, on purpose: this package runs inside the simulated runtime, as
``agw-sandbox mock-provider --port N``, and unchanged inside a stock ``python`` container in the
kind cluster (its files mounted from a ConfigMap as ``/app/mock/`` and started as
``python -m mock``). Its modules import each other relatively and nothing outside the standard
library; a test runs a copy of it in an isolated interpreter to keep it so.

- ``openai.py``: the API's shapes: paths, error bodies, completions, what a valid body is;
- ``guarded.py``: the HTTP/1.1 server and handler hardened for hostile input (shared with the
  simulated gateway);
- ``provider.py``: :class:`MockProvider`, the server that checks keys and answers;
- ``key_chains.py``: where text holds a key cut into short pieces, and ``key_runs.py``: a run of
  a key's characters long enough to be masked (the rules the sandbox's masker uses too, for
  what the mock quotes);
- ``cli.py`` and ``__main__.py``: the command line.
"""

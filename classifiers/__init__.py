"""The partnership classifier: corpus, features, model, registry and CLI (`python -m classifiers`)."""

__version__ = "0.1.0"

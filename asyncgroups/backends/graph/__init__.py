"""The Microsoft Graph (Entra ID) backend: OAuth2 client credentials and ``$batch``."""

from asyncgroups.backends.graph.backend import Graph
from asyncgroups.backends.graph.session import GraphSession

__all__ = ["Graph", "GraphSession"]

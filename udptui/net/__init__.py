"""The network layer below the chat: multicast groups, impairments and relay sessions.

Nothing here imports Textual.
"""

"""The chat without a screen: the session, the store of entries, the roster, commands and
sending. Nothing here imports Textual.
"""

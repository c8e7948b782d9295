"""What a session writes down: the --log transcript, JSON lines, pcap, and files the user
names. Nothing here imports Textual.
"""

"""The widgets udptui is made of; each does one thing."""

from udptui.widgets.chat_body import ChatBody
from udptui.widgets.chat_header import ChatHeader
from udptui.widgets.chat_log import ChatLog
from udptui.widgets.composer import Composer
from udptui.widgets.filter_bar import FilterBar
from udptui.widgets.inspector import Inspector
from udptui.widgets.log_pane import LogPane
from udptui.widgets.peer_list import PeerList
from udptui.widgets.status_bar import StatusBar

__all__ = [
    "ChatBody",
    "ChatHeader",
    "ChatLog",
    "Composer",
    "FilterBar",
    "Inspector",
    "LogPane",
    "PeerList",
    "StatusBar",
]

"""The widgets udptui is made of; each does one thing."""

from udptui.ui.widgets.chat_body import ChatBody
from udptui.ui.widgets.chat_header import ChatHeader
from udptui.ui.widgets.chat_log import ChatLog
from udptui.ui.widgets.composer import Composer
from udptui.ui.widgets.filter_bar import FilterBar
from udptui.ui.widgets.inspector import Inspector
from udptui.ui.widgets.log_pane import LogPane
from udptui.ui.widgets.peer_list import PeerList
from udptui.ui.widgets.status_bar import StatusBar

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

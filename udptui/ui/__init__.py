"""The screen: the Textual app, its widgets and styles, the palette and the terminal."""

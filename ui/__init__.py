"""The browser chat over the `rag` library (Gradio). `ui.app.build_app(index)` builds it; `rag chat` runs it.

Nothing is imported here, so `import ui` does not load Gradio.
"""

"""The Spasm Advisor service: CDS Hooks 2.0, a JSON API and the case workbench.

Needs the ``server`` extra (``pip install '.[server]'`` from a checkout). Build
the ASGI application with :func:`spasm_advisor.service.app.create_app`, or
serve ``spasm_advisor.service.asgi:app`` with any ASGI server; the command
``spasm-advisor serve`` runs it under uvicorn. Importing this package imports
no web framework: only :mod:`spasm_advisor.service.app` does.
"""

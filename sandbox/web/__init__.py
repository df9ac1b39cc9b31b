"""The offline sandbox's browser page: it plays Slack's client for the bot.

``index.html`` with ``page.css`` and plain ES modules (``page.js``, ``blocks.js`` for Block
Kit, ``mrkdwn.js`` for Slack's text formatting, ``modal.js`` for views): no build step, no
npm. ``app.py`` serves them and turns what a person does on the page into Slack's signed
requests to the bot.
"""

"""The bot's commands: one cog (extension) per family of commands.

Cogs are thin: they declare the options (the model commands' come from the shared
catalogue, through ``bot.catalogue``), call the inference service through
``bot.jobs.run_job`` and leave rendering to ``chat.render`` (the cards) and
``bot.render`` (the cards as embeds and views).
"""

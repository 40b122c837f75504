"""The chat parts every platform shares: the command catalogue, what a reply is made of
(cards), the renderers of results, and the job life cycle behind a small ``Surface``
protocol. Nothing here imports a platform's library: ``bot`` (Discord) and ``slackapp``
(Slack) build on it, and it builds on ``inference`` and ``store``."""

from tests.fakeslack.fixtures import fake_slack  # noqa: F401  (the fixture, for this directory)

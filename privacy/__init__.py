"""Personal data on request: erasing a person everywhere under the home (`crmw forget`).

See docs/privacy.md for what is stored where and how erasure works.
"""

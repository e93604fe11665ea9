"""The pages for people.

HTML shells (``templates/``), their scripts (``static/``), the page routes
(``pages``) and the interface's strings in Vietnamese and English (``i18n``).

The pages read through the same use-case functions as the JSON API, so a figure on a
page and in an export cannot disagree.
"""

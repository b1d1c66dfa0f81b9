"""`liveblog archive SLUG DIR`: an ended story as static files any web server can serve.

The pages are the site's own (in_process.py asks the application for them, without a
network), saved with every link between archived files made relative (links.py); the flow
is in story_archive.py."""

"""The review web page (`reelcat serve`): server in app, POST actions in api, HTML in pages,
catalogue reads in data, CSS and JS in static/."""

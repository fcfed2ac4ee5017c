"""The review web page (`reelcat serve`): server in app, POST actions in api, HTML in pages
(the frame search's page in search_page), catalogue reads in data, the player's media in
playback, CSS and JS in static/."""

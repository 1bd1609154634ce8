"""AWS's sample events, generated locally (`hearth event`): the shapes Lambda receives."""

"""Controllers: each turns one kind of user intent into changes of the state or commands for
the training process, and is tested against stub views."""

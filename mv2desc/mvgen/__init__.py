"""Music-video generation: song -> segments -> descriptions -> style sheet -> keyframes -> clips ->
beat-synchronised MP4, storyboard and timeline (``mv2desc mv generate``)."""

"""Live MIDI: play the current pattern on a MIDI port in time with the DAW (issue 5).

- ``output``: MIDI output ports (rtmidi virtual port "Nudge" or an existing port), note bookkeeping, panic.
- ``clock``: where tempo and transport come from (internal, OSC transport, MIDI clock input); ``clock_in``:
  the MIDI clock input port.
- ``timeline``: the pattern as a looping stream of timed note events, with queued switches.
- ``player``: the scheduling thread that sends the timeline through an output, following a clock.
- ``process``: ``LivePlayer``, that player in a process of its own (what the daemon uses); ``child``: that
  process's side; ``link``: the pipe to it, with deadlines and restarts; ``jack_ports``: the JACK
  connections a restarted player gets back.
- ``options``: command-line options, building a player from them, signal handlers.
"""

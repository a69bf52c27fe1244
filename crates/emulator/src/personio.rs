pub struct PersonioEmulator;

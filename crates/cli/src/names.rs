//! Synthetic Norwegian names and addresses for the demo world: common names, so the
//! demo looks like a Norwegian clinic, combined at random so they match nobody real.

/// Common Norwegian women's given names.
pub const WOMEN: &[&str] = &[
    "Anne", "Inger", "Kari", "Marit", "Ingrid", "Liv", "Eva", "Berit", "Astrid", "Bjørg", "Hilde", "Anna",
    "Solveig", "Marianne", "Randi", "Ida", "Nina", "Maria", "Elisabeth", "Kristin", "Tone", "Silje",
    "Ingeborg", "Camilla", "Hege", "Heidi", "Linda", "Mona", "Sissel", "Trine",
];

/// Common Norwegian men's given names.
pub const MEN: &[&str] = &[
    "Jan", "Per", "Bjørn", "Ole", "Lars", "Kjell", "Knut", "Arne", "Svein", "Thomas", "Hans", "Geir", "Tor",
    "Morten", "Terje", "Odd", "Erik", "Rune", "Martin", "Andreas", "Trond", "Jon", "Anders", "Espen",
    "Stian", "Kristian", "Frode", "Tommy", "Vidar", "Roger",
];

/// Common family names in Norway.
pub const FAMILY: &[&str] = &[
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen", "Jensen",
    "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen", "Johannessen", "Andreassen",
    "Jacobsen", "Dahl", "Jørgensen", "Halvorsen", "Henriksen", "Lund", "Sørensen", "Jakobsen", "Moen",
    "Gundersen", "Iversen", "Strand", "Solberg", "Svendsen", "Eide", "Knutsen", "Martinsen", "Paulsen",
    "Bakken", "Kristoffersen", "Mathisen", "Lie", "Amundsen", "Nguyen", "Rasmussen", "Ali", "Lunde",
    "Solheim", "Berge", "Moe", "Nygård", "Bakke", "Kristensen", "Fredriksen", "Holm", "Lien", "Hauge",
    "Christensen", "Andresen", "Nielsen", "Knudsen", "Evensen",
];

/// Street names found in most Norwegian towns.
pub const STREETS: &[&str] = &[
    "Storgata", "Kirkegata", "Skolegata", "Fjordveien", "Strandgata", "Havnegata", "Bakkeveien",
    "Sjøgata", "Torggata", "Nyveien", "Granveien", "Bjørkeveien", "Furuveien", "Solbakken", "Elvegata",
    "Fabrikkgata", "Jernbanegata", "Kongens gate", "Parkveien", "Lyngveien",
];

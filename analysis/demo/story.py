"""The demo world's story, written for this project, in sections like the audiobook's.

``STORY[language]`` is a list of sections; each section is a list of sentences. Only English
exists so far; parallel French and Mandarin versions extend the same structure.
"""
from __future__ import annotations

STORY: dict[str, list[list[str]]] = {
    "en": [
        [
            "On the far side of a small grey island there was a lighthouse, and in the lighthouse lived an old keeper called Anna.",
            "Every evening she climbed the hundred and twelve steps to light the great lamp.",
            "Every morning she climbed them again to put it out.",
            "Between the two climbs she mended nets, baked bread, and wrote letters that she never sent.",
            "The island had no trees, only rocks, moss, and a wind that never seemed to rest.",
            "One autumn morning, when the fog was still thick over the water, Anna heard a knock at her door.",
            "It was not a loud knock, and it was not very high on the door either.",
            "When she opened it, she found a young fox sitting on the step, wet and shivering, with one paw held up in the air.",
            "Good morning, said the fox, very politely.",
            "I have come a long way, and I think I have lost the road.",
            "Anna had lived alone for many years, and she had never heard an animal speak.",
            "She looked at the fox for a long time.",
            "Then she looked at the sea, as if the sea might explain it.",
            "The sea said nothing, as usual.",
            "There is no road on this island, said Anna at last.",
            "There are only stones and the path to the harbour.",
            "Then I have certainly lost it, said the fox, and he sneezed.",
            "Anna let him in, dried him with an old blue towel, and gave him a bowl of warm milk by the stove.",
        ],
        [
            "The fox told her that he had been looking for a place where the stars were closer.",
            "In the forest where he was born, he said, the trees hid the sky, and the foxes only ever looked at the ground.",
            "He wanted to see the whole sky at once, from one edge to the other.",
            "Someone had told him that the best place for that was the top of a lighthouse.",
            "Anna laughed for the first time in a long while.",
            "The top of my lighthouse is mostly glass and a very hot lamp, she said.",
            "But if you are careful, you may come up with me tonight.",
            "That evening they climbed the hundred and twelve steps together.",
            "The fox counted every step out loud, and twice he had to start again.",
            "At the top, Anna lit the lamp, and its long white beam swept slowly over the black water.",
            "Above them the clouds opened, and the stars came out one by one, then by the hundreds, then too many to count.",
            "The fox did not say anything for a long time.",
            "His ears turned towards the sky as if he were listening to it.",
            "Do they make a sound, he asked quietly.",
            "Only the wind makes a sound up here, said Anna.",
            "But I have always thought that they look as though they are singing.",
            "They stayed there until the first grey light of dawn, when the lamp had to be put out.",
            "On the way down the fox was so tired that Anna carried him in her arms.",
        ],
        [
            "The fox stayed on the island through the winter.",
            "He learned to mend nets with his teeth, although he was not very good at it.",
            "He learned the names of the boats that passed, and the names of the birds that followed them.",
            "In return he taught Anna the names of the stars, which he had invented himself, because he did not know the real ones.",
            "There was the Sleeping Hare, the Broken Kettle, and a very bright one he simply called Anna.",
            "When spring came, the fox grew quiet and spent his days looking at the mainland.",
            "Anna knew what that meant before he said it.",
            "I have seen the whole sky now, said the fox one morning.",
            "I think I should go home and tell the others to look up.",
            "Anna packed him a small bag with bread, a piece of the old blue towel, and one of her letters.",
            "She rowed him across to the harbour herself, and the sea was calm all the way.",
            "On the quay the fox turned around and held up one paw, just as he had done on the first day.",
            "Thank you for the stars, he said.",
            "They were never mine, said Anna, but you are welcome to them.",
            "That night she climbed the hundred and twelve steps alone and lit the great lamp.",
            "When the beam swept over the mainland, she thought she saw, far away at the edge of a forest, a small shape sitting very still with its face turned up to the sky.",
        ],
    ],
}

VOICES = {"en": "en", "fr": "fr", "cn": "cmn"}

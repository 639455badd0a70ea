-- Follows are matched without the letters that carry no combining mark (bot/follows.py
-- `fold`: ł is l, ø is o, æ is ae, as the author index already reads them), so that
-- "Lukasz Kaiser" follows "Łukasz Kaiser". Keys stored before are spelled so too; a follow
-- that thereby becomes one its owner already has is dropped, as adding it again would be.
UPDATE OR IGNORE follows SET key =
    replace(replace(replace(replace(replace(replace(replace(replace(key,
        'ø', 'o'), 'ł', 'l'), 'đ', 'd'), 'ð', 'd'), 'þ', 'th'), 'æ', 'ae'), 'œ', 'oe'),
        char(305), 'i');
DELETE FROM follows WHERE key <>
    replace(replace(replace(replace(replace(replace(replace(replace(key,
        'ø', 'o'), 'ł', 'l'), 'đ', 'd'), 'ð', 'd'), 'þ', 'th'), 'æ', 'ae'), 'œ', 'oe'),
        char(305), 'i');

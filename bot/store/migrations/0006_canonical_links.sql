-- A paper's links are its id's arXiv pages, never the text a post happened to hold: older
-- versions stored the post's links verbatim, and a crafted one (a nested URL, a query, a
-- quote) then made embeds that Discord refuses. Rebuild the stored links that differ.

UPDATE papers SET
    abs_url = 'https://arxiv.org/abs/' || arxiv_id,
    pdf_url = CASE WHEN pdf_url IS NULL THEN NULL ELSE 'https://arxiv.org/pdf/' || arxiv_id END
WHERE abs_url IS NOT 'https://arxiv.org/abs/' || arxiv_id
    OR pdf_url IS NOT (CASE WHEN pdf_url IS NULL THEN NULL ELSE 'https://arxiv.org/pdf/' || arxiv_id END);
UPDATE paper_listings SET
    abs_url = 'https://arxiv.org/abs/' || arxiv_id,
    pdf_url = CASE WHEN pdf_url IS NULL THEN NULL ELSE 'https://arxiv.org/pdf/' || arxiv_id END
WHERE abs_url IS NOT 'https://arxiv.org/abs/' || arxiv_id
    OR pdf_url IS NOT (CASE WHEN pdf_url IS NULL THEN NULL ELSE 'https://arxiv.org/pdf/' || arxiv_id END);

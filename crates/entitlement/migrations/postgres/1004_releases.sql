-- R-MAIL-4: published releases of a product; the coordinators of the
-- classic contracts holding it hear of each once.
CREATE TABLE product_releases (
    product_id   TEXT NOT NULL REFERENCES products (id),
    version      TEXT NOT NULL,
    notes        TEXT NOT NULL,
    publish_time BIGINT NOT NULL,
    PRIMARY KEY (product_id, version)
);

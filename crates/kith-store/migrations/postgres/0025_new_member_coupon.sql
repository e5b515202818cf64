-- The new-member coupon (issue 19): the template of a merchant that only members who have
-- never ordered at the shop may claim (none: no new-member coupon).
ALTER TABLE promotion_settings ADD COLUMN new_member_template_id uuid REFERENCES coupon_templates (id);
